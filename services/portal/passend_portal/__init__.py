"""The Passend portal: server-side HTML over the four services' HTTP APIs."""
