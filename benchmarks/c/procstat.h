/* What both benchmark programs read about themselves from /proc. */
#ifndef RDPPROBE_BENCH_PROCSTAT_H
#define RDPPROBE_BENCH_PROCSTAT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Peak RSS of this process image in KiB.  VmHWM is reset by execve, unlike
 * ru_maxrss, which keeps the high-water mark of the image that called exec
 * (e.g. a Python parent's). */
static long peak_rss_kib(long fallback)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	if (!f)
		return fallback;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6)) { v = strtol(line + 6, NULL, 10); break; }
	fclose(f);
	return v > 0 ? v : fallback;
}

#endif
