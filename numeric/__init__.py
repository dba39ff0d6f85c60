"""NumPy gradient functions generated from the expressions `symbolic` derives."""
