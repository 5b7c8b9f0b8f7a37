"""Evidence bundles outside the server: offline verification and the printable document."""
