"""HTTP plumbing shared by the APIs: errors to responses, dependencies, health."""
