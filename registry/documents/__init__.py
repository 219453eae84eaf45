"""Documents a regulator can take into other tools.

- ``prov``: the lineage as W3C PROV-JSON, and its validator (plain Python).
- ``croissant``: a version's documentation as MLCommons Croissant 1.0 JSON-LD
  with the RAI vocabulary, and its validator (plain Python).
- ``values``: the JSON values both write the same way (plain Python).
- ``for_models``: the Django side, which reads registry rows the user may see
  and feeds them to the two builders.

This file imports nothing, so importing a plain module never loads Django.
"""
