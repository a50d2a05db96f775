/* SPDX-License-Identifier: MIT */
/*
 * maint.h - database maintenance commands: export and import of counts as
 * text (bsfilter's --export-clean/--export-spam/--import-clean/
 * --import-spam, and a whole-database --dump/--load), --check-db and
 * --prune.
 *
 * Text formats (tokens never hold blanks or line ends):
 *   export: "#spamsift-export 1 spam|clean", "#messages N", then
 *           "TOKEN<TAB>COUNT" lines;
 *   dump:   "#spamsift-dump 1", "#messages SPAM CLEAN", "#meta KEY N"
 *           lines (robx), then "TOKEN<TAB>SPAM<TAB>CLEAN<TAB>DAY" lines.
 * Imports add to what the database holds, in one transaction.
 */
#ifndef SPAMSIFT_MAINT_H
#define SPAMSIFT_MAINT_H

#include "db/db.h"
#include "src/opts.h"

/* Run o->cmd (CMD_EXPORT, CMD_IMPORT, CMD_CHECKDB, CMD_PRUNE) on db.
 * Prints reports and errors itself; returns an exit status. */
int maint_run(const struct opts *o, struct db *db);

#endif
