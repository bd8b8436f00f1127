#include "version.h"

/* Written by make into the build directory: SKL_RELEASE and SKL_COMMIT. */
#include "build_version.h"

const char skl_version[] = SKL_RELEASE " (git " SKL_COMMIT ")";
