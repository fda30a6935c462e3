"""The persona layer: definitions, templates, versions, inheritance, validation, A/B splits."""
