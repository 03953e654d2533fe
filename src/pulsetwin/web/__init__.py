"""The dashboard's static files (HTML, JS modules, CSS, message catalogues); they talk to the API only."""
