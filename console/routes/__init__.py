"""One module per area of the console: auth, the case pages, the JSON API."""
