"""Coverage-guided fuzz targets for rdpprobe (atheris); see README, "Fuzzing"."""
