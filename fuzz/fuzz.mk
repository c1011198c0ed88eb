# fuzz.mk — fuzz targets (spec/architecture.md §Fuzzing).
