/* SPDX-License-Identifier: MIT */
/* tune.c - placeholder until the tuning command lands (issue 4). */
#include <stdio.h>

#include "src/tune.h"

int
tune_run(const struct opts *o)
{
	(void)o;
	fprintf(stderr, "spamsift: tune: not built yet\n");
	return EXIT_ERROR;
}
