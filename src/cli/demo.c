/* latent demo: the main job on data shipped with latent. */
#include "cli.h"
int cmd_demo(int argc, char **argv) { (void)argc; (void)argv; return EXIT_OK; }
