"""Classification suggestions API: suggest codes for a text, the officers' keyword rules, reviewers' decisions."""
