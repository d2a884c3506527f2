"""Registry: citizens, households, ID numbers, administrative units and their history."""
