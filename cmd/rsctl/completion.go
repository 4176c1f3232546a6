package main

// bashCompletion is printed by `rsctl completion bash`; load it with
// `source <(rsctl completion bash)` or install it in /etc/bash_completion.d/rsctl. Member names and
// neighbor addresses are completed from the running route server (show summary -json), asked with
// the flags given before the command (-socket, -url, -token-file).
const bashCompletion = `# bash completion for rsctl (ixrs)
_rsctl_members() {
    rsctl "${_rsctl_flags[@]}" -json show summary 2>/dev/null | sed -n 's/^ *"\(Member\|Neighbor\)": "\(.*\)",$/\2/p' | sort -u
}
_rsctl() {
    local cur words cword
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    local i=1
    while [[ $i -lt $cword && ${words[$i]} == -* ]]; do
        case ${words[$i]} in -socket|-url|-token-file|-timeout) i=$((i+1));; esac
        i=$((i+1))
    done
    local _rsctl_flags=("${words[@]:1:i-1}")
    local n=$((cword - i)) cmd=${words[$i]} sub=${words[$((i+1))]}
    if [[ $cur == -* && $n -eq 0 ]]; then
        COMPREPLY=($(compgen -W "-json -socket -url -token-file -timeout" -- "$cur")); return
    fi
    case $n in
    0) COMPREPLY=($(compgen -W "show explain reload diff neighbor max-prefix graceful-shutdown mrt trace version completion" -- "$cur")) ;;
    1) case $cmd in
       show) COMPREPLY=($(compgen -W "summary neighbor routes" -- "$cur")) ;;
       neighbor|trace) COMPREPLY=($(compgen -W "$(_rsctl_members)" -- "$cur")) ;;
       max-prefix) COMPREPLY=($(compgen -W "clear" -- "$cur")) ;;
       graceful-shutdown) COMPREPLY=($(compgen -W "on off" -- "$cur")) ;;
       mrt) COMPREPLY=($(compgen -W "dump" -- "$cur")) ;;
       diff) COMPREPLY=($(compgen -W "-config" -- "$cur")) ;;
       completion) COMPREPLY=($(compgen -W "bash" -- "$cur")) ;;
       esac ;;
    2) case $cmd in
       show) case $sub in
             neighbor) COMPREPLY=($(compgen -W "$(_rsctl_members)" -- "$cur")) ;;
             routes) COMPREPLY=($(compgen -W "received accepted filtered exported not-exported prefix member" -- "$cur")) ;;
             esac ;;
       neighbor) COMPREPLY=($(compgen -W "shutdown enable reset" -- "$cur")) ;;
       trace) COMPREPLY=($(compgen -W "on off" -- "$cur")) ;;
       max-prefix) COMPREPLY=($(compgen -W "$(_rsctl_members)" -- "$cur")) ;;
       explain) COMPREPLY=($(compgen -W "$(_rsctl_members)" -- "$cur")) ;;
       diff) COMPREPLY=($(compgen -f -- "$cur")) ;;
       esac ;;
    3) case $cmd in
       show) [[ $sub == routes && ${words[$((i+2))]} != prefix ]] && COMPREPLY=($(compgen -W "$(_rsctl_members)" -- "$cur")) ;;
       neighbor) [[ ${words[$((i+2))]} == reset ]] && COMPREPLY=($(compgen -W "soft" -- "$cur")) ;;
       esac ;;
    4) [[ $cmd == show && $sub == routes ]] && COMPREPLY=($(compgen -W "ipv4 ipv6 exact longest more-specific" -- "$cur")) ;;
    esac
    if [[ $cmd == trace && $n -ge 3 && ${words[$((i+2))]} == on ]]; then
        COMPREPLY=($(compgen -W "open update notification keepalive refresh all raw" -- "$cur"))
    fi
}
complete -F _rsctl rsctl
`
