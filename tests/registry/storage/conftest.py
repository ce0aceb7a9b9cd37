from tests.support.seaweedfs import seaweedfs

__all__ = ["seaweedfs"]  # a session fixture: one SeaweedFS for every S3 test
