/* container_of: from a pointer to an embedded member back to its owner (watchers embedded in
 * connections hand the loop a pointer to the watcher; the callback recovers the connection). */
#ifndef VEIL_CORE_CONTAINER_H
#define VEIL_CORE_CONTAINER_H

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
