"""Connectors that turn real Dutch data into the canonical tables the twin also produces.

``settings`` (base URLs, cache, retries) · ``http`` (the one client: retries, cache, resumable downloads) ·
``odata`` (CBS OData v3 paging and DataProperties) · ``cbs`` (Kerncijfers wijken en buurten) · ``police``
(47022NED crime, 47024NED nuisance) · ``pdok`` (wijk- en buurtkaart geometry) · ``mapped_files`` (municipal
files by YAML mapping) · ``sensors`` (anonymous hourly counts) · ``boundaries`` (carry series across boundary
years) · ``spatial`` (points to areas) · ``dataset`` (what every connector returns). Connectors only fetch and
map; the CLI writes each dataset with one all-or-nothing store import.
"""
