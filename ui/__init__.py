"""Pieces shared by the pages: sidebar filters, cached reads, metric panels, the chart theme.

Pages and these helpers call `warehouse` query functions only; they hold no SQL and no metric math."""
