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
 *   dump:   "#spamsift-dump 3", "#tokenizer N", "#messages SPAM CLEAN",
 *           "#meta KEY N" lines (robx, lr_msgs), "TOKEN<TAB>SPAM<TAB>
 *           CLEAN<TAB>DAY<TAB>WEIGHT" lines, "#learned", then "DIGEST
 *           <TAB>spam|clean[-scaled]<TAB>DAY<TAB>STEP<TAB>MESSAGE-ID"
 *           lines (hex SHA-256; the id may be empty), and "#end".
 *           --load refuses a dump without its #end or of another
 *           tokenizer version.  Version 2 had no #tokenizer and no
 *           #end; version 1 no weights and no learned messages either;
 *           --load still reads both.
 * Imports add to what the database holds (robx is set), in one
 * transaction; a dump's learned message that the database knows keeps
 * the database's record.  A dump is written from one snapshot.
 */
#ifndef SPAMSIFT_MAINT_H
#define SPAMSIFT_MAINT_H

#include "db/db.h"
#include "src/opts.h"

/* Run o->cmd (CMD_EXPORT, CMD_IMPORT, CMD_CHECKDB, CMD_PRUNE) on db.
 * Prints reports and errors itself; returns an exit status. */
int maint_run(const struct opts *o, struct db *db);

#endif
