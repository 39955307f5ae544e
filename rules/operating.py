"""Operating life: yearly report and evaluation, rectification, major changes, revocation (M1-M4, M7)."""
