// The translation unit that builds the test programs' precompiled header (cmake/CordonTesting.cmake);
// it has no code of its own.
