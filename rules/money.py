"""Money: advances, performance settlement, clawback, the yearly cap, the 2-year deadline (S1-S3, PD5, PD6)."""
