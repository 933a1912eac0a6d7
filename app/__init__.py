"""Wijkwerf: collective renovation in a neighbourhood."""
