-- The group (stratum) each drawn call came from, so the pass rate can be re-weighted over the
-- calls actually reviewed and given a stratified interval. Sessions drawn before this have NULL:
-- their calls are grouped by their weight instead (warehouse/review_summary.py).
ALTER TABLE review_samples ADD COLUMN stratum VARCHAR;
