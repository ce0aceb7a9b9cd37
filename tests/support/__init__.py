"""What tests across packages share: live servers (``live``), a live registry with TUF
initialised (``tuf``)."""
