"""The model layer: the Dataset schema, column names, quantities and shared math."""
