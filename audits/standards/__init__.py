"""Standards: the plain engine (``engine/``: rules, inheritance, YAML, evaluation;
no Django), the standards shipped with SynthGov (``shipped/``), and authoring them
in the web app and API (selectors, services, forms, views, api)."""
