"""The staff portal (issue 10): server-rendered pages over the staff layer, signed-in identity."""
