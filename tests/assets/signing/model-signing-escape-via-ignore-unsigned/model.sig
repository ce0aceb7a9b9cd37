{
  "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
  "verificationMaterial": {
    "publicKey": {
      "hint": "0ebda57e0e0ad8c71bc09e581b55b28ecfd5c6e88f79838f6041842884882988"
    },
    "tlogEntries": []
  },
  "dsseEnvelope": {
    "payload": "ewogICJfdHlwZSI6ICJodHRwczovL2luLXRvdG8uaW8vU3RhdGVtZW50L3YxIiwKICAic3ViamVjdCI6IFsKICAgIHsKICAgICAgIm5hbWUiOiAibW9kZWwiLAogICAgICAiZGlnZXN0IjogewogICAgICAgICJzaGEyNTYiOiAiYWMzNzI1YmZlZjZlNmM0NDU3NDhiZDUwMDUxNGQxYTNmMmIxZGU2ZDEyODUzMGYyYTdhNjhiMmQyODhjYWRjNCIKICAgICAgfQogICAgfQogIF0sCiAgInByZWRpY2F0ZVR5cGUiOiAiaHR0cHM6Ly9tb2RlbF9zaWduaW5nL3NpZ25hdHVyZS92MS4wIiwKICAicHJlZGljYXRlIjogewogICAgInJlc291cmNlcyI6IFsKICAgICAgewogICAgICAgICJuYW1lIjogIi4uL3NlY3JldC50eHQiLAogICAgICAgICJhbGdvcml0aG0iOiAic2hhMjU2IiwKICAgICAgICAiZGlnZXN0IjogIjQ5MmNiNGU1MTIxZTBjMTYwNjI4ZmY2MzZlMTBjMDYxNDI0MGU1NDBlOTBmY2Y1MmJlNTc2YTc2YjQzM2U0YjQiCiAgICAgIH0sCiAgICAgIHsKICAgICAgICAibmFtZSI6ICJ3ZWlnaHRzLmJpbiIsCiAgICAgICAgImFsZ29yaXRobSI6ICJzaGEyNTYiLAogICAgICAgICJkaWdlc3QiOiAiMWI0NjVmYTZiNmJjYmMwNmEzMTk5ZTNkMmQ4YWVjMzVkMzc0OTRhNzEyZjg4OGI2ZDU1MzY2ODRkZDg5ZDBmMCIKICAgICAgfQogICAgXSwKICAgICJzZXJpYWxpemF0aW9uIjogewogICAgICAibWV0aG9kIjogImZpbGVzIiwKICAgICAgImhhc2hfdHlwZSI6ICJzaGEyNTYiLAogICAgICAiYWxsb3dfc3ltbGlua3MiOiBmYWxzZQogICAgfQogIH0KfQ==",
    "payloadType": "application/vnd.in-toto+json",
    "signatures": [
      {
        "sig": "MEYCIQC9JHKCw1c+usuOaUvbn0q/+yfa1bQKggaQFu5XXHRKgQIhAL3/tRHBrMr5zFm0gpkyW5zp/lopHXPvYqcfC8pqbuEE",
        "keyid": ""
      }
    ]
  }
}
