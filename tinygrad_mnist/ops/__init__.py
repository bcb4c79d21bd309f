"""Differentiable primitive ops, grouped by kind, in functional form."""
