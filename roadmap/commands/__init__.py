"""The tracker's commands, one module per family; roadmap.cli builds the argument parser.

- run: status (the default), check, project
- learn: next, list, hint, solution
- reset: restore one exercise's stub functions
- watch: rerun the current exercise on every save
- doctor: the learner's setup, with fixes
- maintain: verify, mistakes, data, notebooks, readme
Every command is `cmd_x(args, manifest) -> int` (the exit code).
"""
