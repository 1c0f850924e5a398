"""What the cloud audit readers share (Okta, Microsoft 365, …): reading JSON records one at a time, and
cleaning the values they carry (times, accounts, addresses)."""
