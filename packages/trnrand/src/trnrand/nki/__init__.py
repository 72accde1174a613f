"""Experimental: trnrand's NeuronCore wiring (trnrand-nki). Not covered by semver; use
``trnrand.set_backend("nki")`` instead of importing from here."""
