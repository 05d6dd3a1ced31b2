/* The release version shared by veil, veil-node and veil-hub (keep in step with project() in
 * CMakeLists.txt). */
#ifndef VEIL_CORE_VERSION_H
#define VEIL_CORE_VERSION_H

#define VEIL_VERSION "0.1.0"

#endif
