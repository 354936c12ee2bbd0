"""What runs on a grading platform's own machines, called by the scripts of its bundle."""
