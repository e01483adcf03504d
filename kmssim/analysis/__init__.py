"""Questions asked of a simulation: who used which key (`auditing`), which data sits under
which key material (`exposure`), is a fleet compliant (`compliance`, `fleet`), what does
rotation cost (`cost`)."""
