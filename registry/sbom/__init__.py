"""SBOM ingestion: validate, bind and index CycloneDX ML-BOMs attached to versions."""
