// The `zerotune` executable: train | prep | eval | generate | export | report.
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--version") {
    std::printf("zerotune %s\n", ZEROTUNE_VERSION);
    return 0;
  }
  std::fprintf(stderr, "usage: zerotune <train|prep|eval|generate|export|report> [options]\n");
  return 2;
}
