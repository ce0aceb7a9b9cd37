"""What every declarative policy language shares: reading a YAML document, matching rules.

The trust policy (:mod:`verifier.trust_policy_file`), the reprint policy
(:mod:`verifier.provenance.reprint_policy`) and the registry's admission policy
(:mod:`registry.admission_policy`) are each a ``version: 1`` YAML file of rules
picked per repository. This package holds what they have in common:

* :mod:`~verifier.policy_documents.yaml_reader` - YAML into frozen msgspec models,
  with errors that name the file and line;
* :mod:`~verifier.policy_documents.rule_matching` - what a rule's ``match`` glob is
  matched against;
* :mod:`~verifier.policy_documents.specs` - the base model every file's models derive
  from, and the fields languages share (names, keys);
* :mod:`~verifier.policy_documents.document` - reading the file, and the decoded
  document a language builds its policy objects from (line-numbered errors, the key
  and certificate files a policy names).
"""
