"""What the embedded default's mail catcher caught, for administrators."""
