//! The "uses" graph of an orchestrator's resources: cycle checks, and each phase's dependency
//! levels (who must wait for whom, and in which order the levels share a phase's time).

/// Which resources each resource uses, by registration index.
#[derive(Debug, Default)]
pub(super) struct Graph {
    uses: Vec<Vec<usize>>,
}

impl Graph {
    /// Adds a node with no dependencies; returns its index.
    pub(super) fn add_node(&mut self) -> usize {
        self.uses.push(Vec::new());
        self.uses.len() - 1
    }

    /// Records that `user` uses `used`.
    pub(super) fn add_edge(&mut self, user: usize, used: usize) {
        if let Some(uses) = self.uses.get_mut(user)
            && !uses.contains(&used)
        {
            uses.push(used);
        }
    }

    /// What `node` uses directly.
    pub(super) fn uses(&self, node: usize) -> &[usize] {
        self.uses.get(node).map_or(&[], Vec::as_slice)
    }

    /// Whether `from` uses `to`, directly or not (or is `to`).
    pub(super) fn reaches(&self, from: usize, to: usize) -> bool {
        let mut stack = vec![from];
        let mut seen = vec![false; self.uses.len()];
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if let Some(visited) = seen.get_mut(node)
                && !std::mem::replace(visited, true)
            {
                stack.extend(self.uses(node));
            }
        }
        false
    }

    /// The members of `members` that use `node` (its users within the phase).
    pub(super) fn users_among<'a>(
        &'a self,
        node: usize,
        members: &'a [usize],
    ) -> impl Iterator<Item = usize> + 'a {
        members
            .iter()
            .copied()
            .filter(move |m| self.uses(*m).contains(&node))
    }

    /// Each member's stop level within the phase, in the order of `members`: 0 for a resource
    /// no other member uses, otherwise one more than its deepest user. Level `k` stops after
    /// every level below it. Dependencies are acyclic (checked when they are added), so the
    /// recursion over users ends.
    pub(super) fn stop_levels(&self, members: &[usize]) -> Vec<usize> {
        let mut known = vec![None; members.len()];
        (0..members.len())
            .map(|position| self.stop_level(position, members, &mut known))
            .collect()
    }

    /// The stop level of `members[position]`, remembered in `known`.
    fn stop_level(&self, position: usize, members: &[usize], known: &mut [Option<usize>]) -> usize {
        if let Some(level) = known[position] {
            return level;
        }
        let level = self
            .users_among(members[position], members)
            .filter_map(|user| members.iter().position(|m| *m == user))
            .map(|user_position| self.stop_level(user_position, members, known) + 1)
            .max()
            .unwrap_or(0);
        known[position] = Some(level);
        level
    }
}

#[cfg(test)]
mod tests {
    use super::Graph;

    #[test]
    fn levels_follow_the_longest_chain_of_users() {
        let mut graph = Graph::default();
        let nodes: Vec<usize> = (0..5).map(|_| graph.add_node()).collect();
        // 0 uses 1, 1 uses 2, 0 uses 2 directly too, 3 uses 2; 4 is alone.
        graph.add_edge(nodes[0], nodes[1]);
        graph.add_edge(nodes[1], nodes[2]);
        graph.add_edge(nodes[0], nodes[2]);
        graph.add_edge(nodes[3], nodes[2]);
        assert_eq!(graph.stop_levels(&nodes), vec![0, 1, 2, 0, 0]);
        assert!(graph.reaches(0, 2));
        assert!(!graph.reaches(2, 0));
        assert_eq!(
            graph.users_among(2, &nodes).collect::<Vec<_>>(),
            vec![0, 1, 3]
        );
    }

    #[test]
    fn only_members_of_the_phase_count() {
        let mut graph = Graph::default();
        let nodes: Vec<usize> = (0..3).map(|_| graph.add_node()).collect();
        graph.add_edge(nodes[0], nodes[1]);
        graph.add_edge(nodes[1], nodes[2]);
        // Node 0 is in another phase: node 1 has no user here.
        assert_eq!(graph.stop_levels(&[1, 2]), vec![0, 1]);
    }

    #[test]
    fn levels_do_not_depend_on_the_order_of_the_members() {
        let mut graph = Graph::default();
        let nodes: Vec<usize> = (0..4).map(|_| graph.add_node()).collect();
        // A chain 0 -> 1 -> 2 -> 3, listed from the most used to the user.
        graph.add_edge(nodes[0], nodes[1]);
        graph.add_edge(nodes[1], nodes[2]);
        graph.add_edge(nodes[2], nodes[3]);
        assert_eq!(graph.stop_levels(&[3, 2, 1, 0]), vec![3, 2, 1, 0]);
        assert_eq!(graph.stop_levels(&[2, 0, 3, 1]), vec![2, 0, 3, 1]);
    }
}
