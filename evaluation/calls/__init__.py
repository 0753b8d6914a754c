"""The 'test and check' calls: the monthly draw, the community members' lists and records."""
