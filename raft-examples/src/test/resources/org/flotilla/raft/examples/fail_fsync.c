/*
 * An LD_PRELOAD shim for FsyncFailureTest: a real storage fault, seen by the JVM exactly as a
 * failing disk's. fsync and fdatasync fail with EIO for every file under the directory named by
 * FLOTILLA_FAIL_FSYNC_DIR (a canonical path, without a trailing slash) once a file named
 * FAIL_FSYNC exists in that directory; every other call, and every call before the trigger, goes to
 * the C library. Build: cc -shared -fPIC -o libfailfsync.so fail_fsync.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tells whether the call on fd must fail: the trigger exists and fd is a file under the dir. */
static int must_fail(int fd) {
  const char *dir = getenv("FLOTILLA_FAIL_FSYNC_DIR");
  if (dir == NULL || dir[0] == '\0') {
    return 0;
  }
  char trigger[PATH_MAX];
  if (snprintf(trigger, sizeof trigger, "%s/FAIL_FSYNC", dir) >= (int) sizeof trigger) {
    return 0;
  }
  struct stat st;
  if (stat(trigger, &st) != 0) {
    return 0;
  }
  char link[64];
  char path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) {
    return 0;
  }
  path[n] = '\0';
  size_t len = strlen(dir);
  return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

int fsync(int fd) {
  static int (*real)(int);
  if (must_fail(fd)) {
    errno = EIO;
    return -1;
  }
  if (real == NULL) {
    real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
  }
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (must_fail(fd)) {
    errno = EIO;
    return -1;
  }
  if (real == NULL) {
    real = (int (*)(int)) dlsym(RTLD_NEXT, "fdatasync");
  }
  return real(fd);
}
