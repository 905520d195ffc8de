"""The model catalogue: one YAML file per model, named as ``load_model`` takes it.

Each file copies the shape fields of the model's Hugging Face ``config.json`` and
cites it in ``source:``; see ``workloads/model.py`` and ``docs/models.md``.
"""
