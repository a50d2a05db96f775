/* SPDX-License-Identifier: MIT */
/*
 * tune.h - --tune: evaluate and tune on the user's labelled mail, on a
 * scratch database, never the user's.
 */
#ifndef SPAMSIFT_TUNE_H
#define SPAMSIFT_TUNE_H

#include "src/opts.h"

/* Run the evaluation o asks for; prints the report; returns an exit
 * status. */
int tune_run(const struct opts *o);

#endif
