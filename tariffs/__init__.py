"""The service catalogue and its tariffs: records (model), YAML loading (load), whole-catalogue
checks (validate) and exact pricing (pricing). See tariffs/README.md and docs/pricing.md."""
