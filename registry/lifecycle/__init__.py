"""The model lifecycle: versions, aliases and the gate every alias move passes."""
