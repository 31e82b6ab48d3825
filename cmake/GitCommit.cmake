# Run at build time (not configure time) by the hsr_git_commit target: writes OUT with the
# current commit, touching it only when the commit changed, so result rows never carry a stale
# commit and unchanged builds recompile nothing. Usage: cmake -DSRC=dir -DOUT=file -P this.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT commit)
  set(commit "unknown")
elseif(dirty)
  set(commit "${commit}-dirty")
endif()
file(CONFIGURE OUTPUT ${OUT} CONTENT "#define HSR_GIT_COMMIT \"${commit}\"\n" @ONLY)
