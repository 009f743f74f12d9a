package plan

import "fmt"

// Summary is the one-line count of a plan, such as
// "1 to create, 2 to build, 3 unchanged, 0 invalid".
func (p Plan) Summary() string {
	var n [len(actionNames)]int
	for _, it := range p.Items {
		n[it.Action]++
	}
	s := fmt.Sprintf("%d to create, %d to build, %d unchanged, %d invalid",
		n[Create], n[Build], n[Unchanged], n[Invalid])
	for _, a := range []Action{Refused, Describe, Unreadable} {
		if n[a] > 0 {
			s += fmt.Sprintf(", %d %s", n[a], a.summaryWord())
		}
	}
	return s
}

func (a Action) summaryWord() string {
	switch a {
	case Refused:
		return "refused"
	case Describe:
		return "description change(s) not applied"
	case Unreadable:
		return "unreadable"
	}
	return a.String()
}
